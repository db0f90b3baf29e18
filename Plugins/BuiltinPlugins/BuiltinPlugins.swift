@_exported import TraceTailCore
import ConsoleOutput
import DiscardOutput
import FileInput
import JSONParser
import KeyValueParser
import LangSmithOutput
import LangWatchOutput
import OTLPOutput
import StdinInput
import WebhookInput

/// The one list of every plugin built into TraceTail. Adding a plugin is one line here.
public enum BuiltinPlugins {
    public static func registry() throws -> PluginRegistry {
        try PluginRegistry(
            inputs: [StdinInput.self, FileInput.self, WebhookInput.self],
            parsers: [JSONParser.self, KeyValueParser.self],
            outputs: [ConsoleOutput.self, DiscardOutput.self, OTLPOutput.self, LangWatchOutput.self, LangSmithOutput.self])
    }
}
