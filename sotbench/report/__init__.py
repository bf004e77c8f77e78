"""Reports rendered from result files alone (leaderboards, performance)."""
