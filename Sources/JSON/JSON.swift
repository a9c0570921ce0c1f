// JSON: filled by its issue.
enum JSONModule {}
