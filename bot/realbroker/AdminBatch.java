// Runs many mqadmin command lines in one JVM (a JVM start costs seconds; a command costs milliseconds).
// Each stdin line is one command, its arguments separated by tabs. After each command it prints
// "@@done" so the caller can split the output per command.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.rocketmq.tools.command.MQAdminStartup;

public class AdminBatch {
    public static void main(String[] ignored) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (!line.isEmpty()) {
                MQAdminStartup.main0(line.split("\t"), null);
            }
            System.out.flush();
            System.err.println("@@done");
            System.out.println("@@done");
            System.out.flush();
        }
        System.exit(0);
    }
}
