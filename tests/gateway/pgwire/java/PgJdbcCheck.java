// DBeaver's and Metabase's path through pgjdbc: DatabaseMetaData tables and columns, then a
// prepared SELECT with a parameter. Prints "key=value" lines the Python test reads.
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Properties;

public class PgJdbcCheck {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", args.length > 2 ? args[2] : "");
        props.setProperty("sslmode", "disable");
        try (Connection conn = DriverManager.getConnection(args[0], props)) {
            DatabaseMetaData md = conn.getMetaData();
            System.out.println("product=" + md.getDatabaseProductName() + " "
                    + md.getDatabaseProductVersion());
            try (ResultSet rs = md.getTables(null, null, "%", new String[] {"TABLE", "VIEW"})) {
                while (rs.next()) {
                    System.out.println("table=" + rs.getString("TABLE_SCHEM") + "."
                            + rs.getString("TABLE_NAME") + ":" + rs.getString("TABLE_TYPE"));
                }
            }
            try (ResultSet rs = md.getColumns(null, null, "orders", "%")) {
                while (rs.next()) {
                    System.out.println("column=" + rs.getString("COLUMN_NAME") + ":"
                            + rs.getString("TYPE_NAME") + ":" + rs.getInt("DATA_TYPE"));
                }
            }
            try (ResultSet rs = md.getPrimaryKeys(null, null, "orders")) {
                while (rs.next()) {
                    System.out.println("pk=" + rs.getString("COLUMN_NAME"));
                }
            }
            String sql = "SELECT id, customer, amount, ok, ts FROM orders WHERE id = ?";
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                for (long k : new long[] {2, 3, 4, 5, 6, 7}) {  // past prepareThreshold: server-prepared
                    ps.setLong(1, k);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            System.out.println("row=" + rs.getLong(1) + ":" + rs.getString(2).length()
                                    + ":" + rs.getBigDecimal(3).scale() + ":" + rs.getBoolean(4)
                                    + ":" + (rs.getTimestamp(5) != null));
                        }
                    }
                }
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT id FROM orders WHERE customer <> ? AND id <= ?")) {
                ps.setString(1, "nobody");
                ps.setInt(2, 3);
                int n = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        n++;
                    }
                }
                System.out.println("count=" + n);
            }
        }
    }
}
