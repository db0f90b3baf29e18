/// Facts about this build.
public enum TraceTail {
    public static let version = "0.1.0"
}
