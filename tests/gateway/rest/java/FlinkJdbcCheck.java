// Drives the FlowSQL gateway with Flink's own JDBC driver (flink-sql-jdbc-driver-bundle).
// Usage: java -cp <driver jar>:<classes> FlinkJdbcCheck jdbc:flink://127.0.0.1:PORT BOUNDED LIVE
// Prints one line per finding: "TABLE <name>", "ROW <id> <name>", "LIVE <k> <count>", "DONE".
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;

public class FlinkJdbcCheck {
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
        System.out.println("DONE");
        System.out.flush();
        System.exit(0);
    }
}
