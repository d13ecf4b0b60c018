// The Attribution module: its public API arrives with its issue (see README.md, Status).
