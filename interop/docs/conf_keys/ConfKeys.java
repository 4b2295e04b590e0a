import io.questdb.BuildInformationHolder;
import io.questdb.ConfigPropertyKey;
import io.questdb.DefaultFactoryProvider;
import io.questdb.PropServerConfiguration;
import io.questdb.PropertyKey;
import io.questdb.ServerConfigurationException;
import io.questdb.log.LogFactory;
import io.questdb.std.FilesFacadeImpl;
import io.questdb.std.datetime.microtime.MicrosecondClockImpl;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The server.conf rules of the QuestDB jar it is compiled and run against (interop/docs/checks/server_keys.py
 * compiles it at run time, with the jar on the class path). It prints tab-separated lines starting with
 * "confkeys", so that whatever QuestDB's logger prints is told apart:
 *
 * <pre>
 *   java ConfKeys keys
 *       confkeys  key         PATH                      every io.questdb.PropertyKey
 *       confkeys  deprecated  PATH  MESSAGE             PropertyValidator's deprecated settings ("Replaced by ...")
 *       confkeys  obsolete    PATH  MESSAGE             PropertyValidator's obsolete settings
 *   java ConfKeys check SERVER_CONF EMPTY_ROOT
 *       confkeys  property    KEY   VALUE               what java.util.Properties read (as the server's Bootstrap does)
 *       confkeys  substituted KEY   FROM  TO            cairo.root outside EMPTY_ROOT, moved into it (it gets created)
 *       confkeys  read        KEY   KIND                how the configuration parsed a key of the file (boolean, int, ...)
 *       confkeys  result      ok | refused  MESSAGE     PropServerConfiguration built, or its ServerConfigurationException
 *       confkeys  result      error  MESSAGE            anything else it threw
 * </pre>
 *
 * "check" builds the server's own configuration object (as QuestDB's Bootstrap does before starting any
 * endpoint) from the file, with an empty environment (no QDB_* overrides) and EMPTY_ROOT as the install
 * root (it creates conf/mime.types and db/ there). Keys, deprecations and values are the jar's; nothing is copied here.
 */
public final class ConfKeys {
    private static final String TAG = "confkeys";

    public static void main(String[] args) throws Exception {
        int code = 2;
        try {
            if (args.length == 1 && args[0].equals("keys")) {
                keys();
                code = 0;
            } else if (args.length == 3 && args[0].equals("check")) {
                check(args[1], args[2]);
                code = 0;
            } else {
                System.err.println("usage: ConfKeys keys | ConfKeys check SERVER_CONF EMPTY_ROOT");
            }
        } finally {
            System.out.flush();
            Runtime.getRuntime().halt(code); // QuestDB's log writer threads would keep the JVM alive
        }
    }

    private static void print(String... fields) {
        StringBuilder line = new StringBuilder(TAG);
        for (String field : fields) {
            line.append('\t').append(field.replace('\\', '/').replace('\t', ' ').replace('\n', ' ').replace('\r', ' '));
        }
        System.out.println(line);
    }

    private static void keys() {
        for (PropertyKey key : PropertyKey.values()) {
            print("key", key.getPropertyPath());
        }
        Maps maps = new Maps();
        for (Map.Entry<ConfigPropertyKey, String> entry : maps.deprecated().entrySet()) {
            print("deprecated", entry.getKey().getPropertyPath(), entry.getValue());
        }
        for (Map.Entry<String, String> entry : maps.obsolete().entrySet()) {
            print("obsolete", entry.getKey(), entry.getValue());
        }
    }

    private static void check(String confFile, String root) throws Exception {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(Paths.get(confFile))) {
            properties.load(in);
        }
        for (String name : properties.stringPropertyNames()) {
            print("property", name, properties.getProperty(name));
        }
        // The configuration creates its database folder: one outside EMPTY_ROOT becomes a folder inside it.
        String dbRoot = properties.getProperty("cairo.root");
        if (dbRoot != null && (Paths.get(dbRoot.trim()).isAbsolute() || dbRoot.contains(".."))) {
            String inside = Paths.get(root, "cairo-root").toString();
            properties.setProperty("cairo.root", inside);
            print("substituted", "cairo.root", dbRoot, inside);
        }
        // With HTTP on, the configuration reads ROOT/conf/mime.types, which the server's Bootstrap extracts from the jar.
        Files.createDirectories(Paths.get(root, "conf"));
        try (InputStream mime = PropServerConfiguration.class.getResourceAsStream("/io/questdb/site/conf/mime.types")) {
            if (mime != null) {
                Files.copy(mime, Paths.get(root, "conf", "mime.types"));
            }
        }
        Recording recording = new Recording();
        try {
            new Recorder(root, properties, recording);
            recording.report(properties);
            print("result", "ok");
        } catch (ServerConfigurationException e) {
            recording.report(properties);
            print("result", "refused", String.valueOf(e.getMessage()));
        } catch (Throwable e) {
            recording.report(properties);
            print("result", "error", e.getClass().getName() + ": " + e.getMessage());
        }
    }

    /** PropertyValidator keeps its maps protected: a subclass reads them. */
    private static final class Maps extends PropServerConfiguration.PropertyValidator {
        Map<ConfigPropertyKey, String> deprecated() {
            return deprecatedSettings;
        }

        Map<String, String> obsolete() {
            return obsoleteSettings;
        }
    }

    /** Which parser the configuration used for each key (the first, outermost call wins). */
    private static final class Recording {
        final Map<String, String> kinds = new LinkedHashMap<>();

        void note(ConfigPropertyKey key, String kind) {
            String path = key.getPropertyPath();
            String known = kinds.get(path);
            if (known == null || known.equals("string")) {
                kinds.put(path, kind);
            }
        }

        void report(Properties properties) {
            for (Map.Entry<String, String> entry : kinds.entrySet()) {
                if (properties.getProperty(entry.getKey()) != null) {
                    print("read", entry.getKey(), entry.getValue());
                }
            }
        }
    }

    /** The server's configuration, with each typed getter noting the key it parses before parsing it. */
    private static final class Recorder extends PropServerConfiguration {
        private static Recording pending; // set before super(...) runs: the getters are called from it

        Recorder(String root, Properties properties, Recording recording) throws Exception {
            super(start(root, recording), properties, null, Collections.emptyMap(), LogFactory.getLog("conf-keys"),
                    new BuildInformationHolder(), FilesFacadeImpl.INSTANCE, MicrosecondClockImpl.INSTANCE,
                    (configuration, engine, freeOnExit) -> DefaultFactoryProvider.INSTANCE, true);
        }

        private static String start(String root, Recording recording) {
            pending = recording;
            return root;
        }

        private static void note(ConfigPropertyKey key, String kind) {
            pending.note(key, kind);
        }

        @Override
        protected boolean getBoolean(Properties p, Map<String, String> env, ConfigPropertyKey key, boolean d) {
            note(key, "boolean");
            return super.getBoolean(p, env, key, d);
        }

        @Override
        protected double getDouble(Properties p, Map<String, String> env, ConfigPropertyKey key, String d)
                throws ServerConfigurationException {
            note(key, "double");
            return super.getDouble(p, env, key, d);
        }

        @Override
        protected int getInt(Properties p, Map<String, String> env, ConfigPropertyKey key, int d)
                throws ServerConfigurationException {
            note(key, "int");
            return super.getInt(p, env, key, d);
        }

        @Override
        protected int getIntPercentage(Properties p, Map<String, String> env, ConfigPropertyKey key, int d)
                throws ServerConfigurationException {
            note(key, "percentage");
            return super.getIntPercentage(p, env, key, d);
        }

        @Override
        protected int getIntSize(Properties p, Map<String, String> env, ConfigPropertyKey key, int d)
                throws ServerConfigurationException {
            note(key, "int size");
            return super.getIntSize(p, env, key, d);
        }

        @Override
        protected long getLong(Properties p, Map<String, String> env, ConfigPropertyKey key, long d)
                throws ServerConfigurationException {
            note(key, "long");
            return super.getLong(p, env, key, d);
        }

        @Override
        protected long getLongSize(Properties p, Map<String, String> env, ConfigPropertyKey key, long d)
                throws ServerConfigurationException {
            note(key, "long size");
            return super.getLongSize(p, env, key, d);
        }

        @Override
        protected long getMicros(Properties p, Map<String, String> env, ConfigPropertyKey key, long d)
                throws ServerConfigurationException {
            note(key, "microseconds");
            return super.getMicros(p, env, key, d);
        }

        @Override
        protected long getMillis(Properties p, Map<String, String> env, ConfigPropertyKey key, long d)
                throws ServerConfigurationException {
            note(key, "milliseconds");
            return super.getMillis(p, env, key, d);
        }

        @Override
        protected long getNanos(Properties p, Map<String, String> env, ConfigPropertyKey key, long d)
                throws ServerConfigurationException {
            note(key, "nanoseconds");
            return super.getNanos(p, env, key, d);
        }

        @Override
        protected int getQueueCapacity(Properties p, Map<String, String> env, ConfigPropertyKey key, int d)
                throws ServerConfigurationException {
            note(key, "queue capacity");
            return super.getQueueCapacity(p, env, key, d);
        }

        @Override
        protected String getString(Properties p, Map<String, String> env, ConfigPropertyKey key, String d) {
            note(key, "string");
            return super.getString(p, env, key, d);
        }

        @Override
        protected void parseBindTo(Properties p, Map<String, String> env, ConfigPropertyKey key, String d,
                                   BindToParser parser) throws ServerConfigurationException {
            note(key, "ipv4:port");
            super.parseBindTo(p, env, key, d, parser);
        }
    }
}
