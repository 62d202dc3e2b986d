import FuzzSupport
import Pipeline

/// Recipe files through `RecipeLoader.load` (YAML via Yams, JSON via Foundation, then the recipe's own validation).
/// The first byte picks the file name: even → `recipe.yaml`, odd → `recipe.json`; the rest is the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipe(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let path = FuzzScratch.directory("recipe") + (data[0] & 1 == 0 ? "/recipe.yaml" : "/recipe.json")
    FuzzScratch.write(UnsafeBufferPointer(start: data + 1, count: size - 1), to: path)
    if let recipe = try? RecipeLoader.load(path) {
        _ = try? RecipeLoader.yaml(recipe)
    }
    return 0
}

/// The program's entry (see `FuzzDriver`).
@_cdecl("fuzz_recipe_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzRecipe)
}
