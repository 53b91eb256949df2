package web

// CommitURL is commitURL, for the table test.
var CommitURL = commitURL
