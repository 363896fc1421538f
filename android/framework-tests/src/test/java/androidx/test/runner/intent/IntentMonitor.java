package androidx.test.runner.intent;

/** Stand-in: the intents the app sends. */
public interface IntentMonitor {
  void addIntentCallback(IntentCallback callback);

  void removeIntentCallback(IntentCallback callback);
}
