// swift-tools-version:5.9
// Swift shell over the Rust core. Build the binary target first: ./build-xcframework.sh
// (writes KidplanFFI.xcframework and Generated/ with the uniffi Swift sources; neither is committed).
import PackageDescription

let package = Package(
    name: "Kidplan",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Kidplan", targets: ["Kidplan"]),
    ],
    targets: [
        .binaryTarget(name: "KidplanFFI", path: "KidplanFFI.xcframework"),
        .target(
            name: "Kidplan",
            dependencies: ["KidplanFFI"],
            path: ".",
            sources: ["Sources/Kidplan", "Generated"]
        ),
        .testTarget(
            name: "KidplanTests",
            dependencies: ["Kidplan"],
            path: "Tests/KidplanTests"
        ),
    ]
)
