package androidx.test.runner.intent;

/** Stand-in: holds the intent monitor. */
public final class IntentMonitorRegistry {
  private static volatile IntentMonitor instance;

  private IntentMonitorRegistry() {}

  public static void registerInstance(IntentMonitor monitor) {
    instance = monitor;
  }

  public static IntentMonitor getInstance() {
    if (instance == null) {
      throw new IllegalStateException("No intent monitor registered");
    }
    return instance;
  }
}
