// Sessionizer: filled by its issue.
enum SessionizerModule {}
