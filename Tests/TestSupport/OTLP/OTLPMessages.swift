/// swift-protobuf's generated OTLP messages under short names, for tests that read or build export requests.
public typealias OTLPExportRequest = Opentelemetry_Proto_Trace_V1_ExportTraceServiceRequest
public typealias OTLPExportResponse = Opentelemetry_Proto_Trace_V1_ExportTraceServiceResponse
