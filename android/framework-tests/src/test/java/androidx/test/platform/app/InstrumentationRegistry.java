package androidx.test.platform.app;

import android.app.Instrumentation;
import android.os.Bundle;

/** Stand-in: the instrumentation Robolectric registers for the running test. */
public final class InstrumentationRegistry {
  private static volatile Instrumentation instrumentation;
  private static volatile Bundle arguments = new Bundle();

  private InstrumentationRegistry() {}

  public static void registerInstance(Instrumentation instrumentation, Bundle arguments) {
    InstrumentationRegistry.instrumentation = instrumentation;
    InstrumentationRegistry.arguments = arguments == null ? new Bundle() : new Bundle(arguments);
  }

  public static Instrumentation getInstrumentation() {
    if (instrumentation == null) {
      throw new IllegalStateException("No instrumentation registered");
    }
    return instrumentation;
  }

  public static Bundle getArguments() {
    return new Bundle(arguments);
  }
}
