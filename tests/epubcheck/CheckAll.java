// Runs EPUBCheck on many files in one JVM (a JVM start costs seconds; a file costs a fraction).
// Usage: java -cp epubcheck.jar CheckAll.java OUT_DIR FILE.epub...  -> OUT_DIR/<n>.json per file.
import com.adobe.epubcheck.tool.EpubChecker;

public class CheckAll {
    public static void main(String[] args) {
        int failed = 0;
        for (int i = 1; i < args.length; i++) {
            String report = args[0] + "/" + (i - 1) + ".json";
            int rc = new EpubChecker().run(new String[] {args[i], "--json", report, "--failonwarnings", "--quiet"});
            if (rc != 0) failed++;
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
