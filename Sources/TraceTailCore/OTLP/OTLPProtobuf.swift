import SwiftProtobuf

public typealias OTLPExportRequest = Opentelemetry_Proto_Trace_V1_ExportTraceServiceRequest
public typealias OTLPExportResponse = Opentelemetry_Proto_Trace_V1_ExportTraceServiceResponse

/// Encodes spans as an OTLP/HTTP protobuf `ExportTraceServiceRequest`, with the same content as `OTLPJSON`.
public enum OTLPProtobuf {
    public static func request(
        _ records: some Sequence<Record>, resource: [(key: String, value: AttributeValue)], scope: OTLPScope
    ) -> OTLPExportRequest {
        var scopeSpans = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scopeSpans.scope.name = scope.name
        scopeSpans.scope.version = scope.version
        scopeSpans.spans = records.map(span)
        var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resourceSpans.resource.attributes = resource.map(keyValue)
        resourceSpans.scopeSpans = [scopeSpans]
        var request = OTLPExportRequest()
        request.resourceSpans = [resourceSpans]
        return request
    }

    public static func bytes(_ request: OTLPExportRequest) -> [UInt8] {
        (try? request.serializedBytes()) ?? [] // serializing a message built in memory cannot fail
    }

    static func span(_ record: Record) -> Opentelemetry_Proto_Trace_V1_Span {
        var span = Opentelemetry_Proto_Trace_V1_Span()
        if let trace = record.traceID { span.traceID = bigEndian(trace.high) + bigEndian(trace.low) }
        if let id = record.spanID { span.spanID = bigEndian(id.value) }
        if let parent = record.parentSpanID { span.parentSpanID = bigEndian(parent.value) }
        span.name = record.name ?? ""
        span.kind = Opentelemetry_Proto_Trace_V1_Span.SpanKind(rawValue: SpanAttributes.kind(record)) ?? .internal
        span.startTimeUnixNano = record.startTime ?? record.observedTime
        span.endTimeUnixNano = record.endTime ?? span.startTimeUnixNano
        span.attributes = SpanAttributes.of(record).map(keyValue)
        switch record.status {
        case .unset: break
        case .ok: span.status.code = .ok
        case .error(let message, _):
            span.status.code = .error
            span.status.message = message
        }
        return span
    }

    static func keyValue(_ entry: (key: String, value: AttributeValue)) -> Opentelemetry_Proto_Trace_V1_KeyValue {
        var keyValue = Opentelemetry_Proto_Trace_V1_KeyValue()
        keyValue.key = entry.key
        keyValue.value = anyValue(entry.value)
        return keyValue
    }

    static func anyValue(_ value: AttributeValue) -> Opentelemetry_Proto_Trace_V1_AnyValue {
        var any = Opentelemetry_Proto_Trace_V1_AnyValue()
        switch value {
        case .string(let text): any.stringValue = text
        case .int(let number): any.intValue = number
        case .double(let number): any.doubleValue = number
        case .bool(let flag): any.boolValue = flag
        case .array(let items): any.arrayValue.values = items.map(anyValue)
        }
        return any
    }

    static func bigEndian(_ value: UInt64) -> Data {
        withUnsafeBytes(of: value.bigEndian) { Data($0) }
    }
}

import Foundation
