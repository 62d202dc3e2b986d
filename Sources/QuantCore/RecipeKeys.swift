/// The key checks every level of a recipe shares (the recipe itself, each scheme and its observer object, each
/// override, calibration): an unknown key is an error naming its full path and the nearest allowed key, never a
/// silently ignored setting.
///
/// Each level checks its own keys and reports fields relative to itself (`granularty`); the level above adds its
/// own name with `nested(_:_:)` as the error passes through, so the user reads `overrides[*.down_proj].weight.granularty`.
public enum RecipeKeys {
    /// Throws for the first key, alphabetically (decoders do not keep the file's order), not in `allowed`.
    /// Does nothing when the value is not an object (a bare observer name, say): its own decoding judges that.
    /// - Parameters: `kind` names the level in the message (`"scheme"` → "unknown scheme field").
    /// - Throws: `QuantError.invalidConfiguration` with the key as the field, a "did you mean" hint when an allowed
    ///   key is within `KeySuggestion.tolerance(for:)`, and the allowed keys.
    public static func rejectUnknown(in decoder: any Decoder, allowed: [String], kind: String) throws(QuantError) {
        guard let container = try? decoder.container(keyedBy: AnyName.self) else { return }
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !allowed.contains(key.stringValue) {
            let sorted = allowed.sorted()
            let hint = KeySuggestion.nearest(to: key.stringValue, among: sorted).map { "; did you mean '\($0)'?" } ?? ""
            throw .invalidConfiguration(
                field: key.stringValue, reason: "unknown \(kind) field\(hint) (allowed: \(sorted.joined(separator: ", ")))")
        }
    }

    /// Runs `body`, putting `prefix.` before the field of any `QuantError.invalidConfiguration` it throws; other
    /// errors pass unchanged.
    public static func nested<T>(_ prefix: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let QuantError.invalidConfiguration(field, reason) {
            throw QuantError.invalidConfiguration(field: prefix + "." + field, reason: reason)
        }
    }

    /// Any key, to list what the file holds.
    struct AnyName: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
