// Drives the FlowSQL gateway with Flink's own JDBC driver (flink-sql-jdbc-driver-bundle).
// Usage: java -cp <driver jar>:<classes> FlinkJdbcCheck jdbc:flink://127.0.0.1:PORT BOUNDED LIVE
// Prints one line per finding: "TABLE <name>", "ROW <id> <name>", "LIVE <k> <count>",
// "TYPED | <type>=<value> ...", "DONE".
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;

public class FlinkJdbcCheck {
    static final String TYPED = "SELECT TRUE AS b, CAST(7 AS TINYINT) AS ti, CAST(300 AS SMALLINT) AS si, "
            + "42 AS i, CAST(9000000000 AS BIGINT) AS bi, CAST(1.5 AS FLOAT) AS f, CAST(2.25 AS DOUBLE) AS d, "
            + "CAST(123.456789 AS DECIMAL(9, 6)) AS dec, 'h\u00e9llo' AS s, CAST('ab' AS BYTES) AS by, "
            + "DATE '1990-10-14' AS dt, TIME '12:12:43' AS tm, TIMESTAMP '1990-10-14 12:12:43.123' AS ts, "
            + "CAST(NULL AS STRING) AS n";

    static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder("x'");
        for (byte b : bytes) {
            out.append(String.format("%02x", b));
        }
        return out.append("'").toString();
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String bounded = args[1];
        String live = args[2];
        Class.forName("org.apache.flink.table.jdbc.FlinkDriver");
        try (Connection connection = DriverManager.getConnection(url);
                Statement statement = connection.createStatement()) {
            // SHOW is not a query (isQueryResult false, as in Flink): execute, then its rows
            if (!statement.execute("SHOW TABLES")) {
                throw new IllegalStateException("SHOW TABLES gave no result set");
            }
            try (ResultSet rs = statement.getResultSet()) {
                while (rs.next()) {
                    System.out.println("TABLE " + rs.getString(1));
                }
            }
            try (ResultSet rs = statement.executeQuery("SELECT id, name FROM " + bounded)) {
                ResultSetMetaData meta = rs.getMetaData();
                System.out.println("COLUMNS " + meta.getColumnName(1) + " " + meta.getColumnTypeName(1)
                        + " " + meta.getColumnName(2) + " " + meta.getColumnTypeName(2));
                while (rs.next()) {
                    System.out.println("ROW " + rs.getLong(1) + " " + rs.getString(2));
                }
            }
            try (ResultSet rs = statement.executeQuery(
                    "SELECT k, COUNT(*) AS c FROM " + live + " GROUP BY k")) {
                for (int i = 0; i < 5 && rs.next(); i++) {
                    System.out.println("LIVE " + rs.getInt(1) + " " + rs.getLong(2));
                }
            }
        }
        // Flink's JSON row deserializer reads every common type FlowSQL sends (batch mode,
        // set through the URL's session properties).
        try (Connection connection = DriverManager.getConnection(url + "?execution.runtime-mode=batch");
                Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery(TYPED)) {
            ResultSetMetaData meta = rs.getMetaData();
            while (rs.next()) {
                StringBuilder line = new StringBuilder("TYPED");
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    Object value = rs.getObject(i);
                    String text = value instanceof byte[] ? hex((byte[]) value) : String.valueOf(value);
                    line.append(" | ").append(meta.getColumnTypeName(i)).append('=').append(text);
                }
                System.out.println(line);
            }
        }
        System.out.println("DONE");
        System.out.flush();
        System.exit(0);
    }
}
