// CollectorCore: filled by its issue.
enum CollectorCoreModule {}
