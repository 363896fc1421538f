package androidx.test.runner.intent;

/** Stand-in: no stubber is ever loaded here, so started activities get no canned result. */
public final class IntentStubberRegistry {
  private static volatile IntentStubber instance;

  private IntentStubberRegistry() {}

  public static void load(IntentStubber stubber) {
    instance = stubber;
  }

  public static boolean isLoaded() {
    return instance != null;
  }

  public static IntentStubber getInstance() {
    if (instance == null) {
      throw new IllegalStateException("No intent stubber loaded");
    }
    return instance;
  }
}
