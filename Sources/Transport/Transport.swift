// Transport: filled by its issue.
enum TransportModule {}
