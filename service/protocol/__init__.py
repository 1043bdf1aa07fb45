"""The Open Inference Protocol (KServe V2): its one ``infer`` sequence, model metadata, the
REST routes and the binary-data extension. gRPC's wire format is ``service.grpc``'s."""
