// SessiondCore: filled by its issue.
enum SessiondCoreModule {}
