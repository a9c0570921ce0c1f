// SessionStore: filled by its issue.
enum SessionStoreModule {}
