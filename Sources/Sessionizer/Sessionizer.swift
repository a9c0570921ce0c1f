// Sessionizer: filled by its issue (engine lands next; see Types.swift for the API types).
enum SessionizerModule {}
