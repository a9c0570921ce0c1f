// Beacon: filled by its issue.
enum BeaconModule {}
