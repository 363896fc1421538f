#!/usr/bin/env bash
# Builds kidplan-ffi for iOS (device + simulators) and macOS (for `swift test`), generates the Swift bindings and assembles
# ios/KidplanFFI.xcframework (static libraries + C headers) and ios/Generated/*.swift.
# Needs macOS with Xcode and:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin
#   ios/build-xcframework.sh [--debug]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
profile=release; flags=(--release)
[[ "${1:-}" == "--debug" ]] && { profile=debug; flags=(); }
target_dir="${CARGO_TARGET_DIR:-$root/target}"
lib=libkidplan_ffi.a

for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin; do
  cargo build -p kidplan-ffi --lib --target "$t" "${flags[@]}"
done

# Swift sources + C headers, generated from a host build (same metadata as the iOS builds).
bindings/generate
gen="$root/bindings/out/swift"
work="$target_dir/xcframework"
rm -rf "$work" ios/Generated ios/KidplanFFI.xcframework
mkdir -p "$work/headers" "$work/sim" ios/Generated
cp "$gen"/*.swift ios/Generated/
cp "$gen"/*.h "$work/headers/"
# One module.modulemap for all crates' FFI modules (each crate's *.modulemap declares one module).
for m in "$gen"/*.modulemap; do cat "$m"; echo; done > "$work/headers/module.modulemap"

# The simulator slice is one fat library for arm64 + x86_64.
lipo -create \
  "$target_dir/aarch64-apple-ios-sim/$profile/$lib" \
  "$target_dir/x86_64-apple-ios/$profile/$lib" \
  -output "$work/sim/$lib"

xcodebuild -create-xcframework \
  -library "$target_dir/aarch64-apple-ios/$profile/$lib" -headers "$work/headers" \
  -library "$work/sim/$lib" -headers "$work/headers" \
  -library "$target_dir/aarch64-apple-darwin/$profile/$lib" -headers "$work/headers" \
  -output ios/KidplanFFI.xcframework

echo "ios: KidplanFFI.xcframework and Generated/ ready; run: (cd ios && swift build) or open in Xcode"
