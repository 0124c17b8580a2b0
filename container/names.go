package container

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Generated names, docker's adjective_surname form, from a small list of
// our own (scientists and engineers, as docker's are).
var (
	adjectives = []string{"admiring", "brave", "clever", "dazzling", "eager", "festive", "gallant", "happy",
		"jolly", "keen", "lucid", "modest", "nifty", "optimistic", "pensive", "quirky", "relaxed", "serene",
		"tender", "upbeat", "vibrant", "wizardly", "youthful", "zealous"}
	surnames = []string{"babbage", "curie", "dijkstra", "euler", "feynman", "gauss", "hopper", "kepler",
		"lamport", "lovelace", "meitner", "noether", "pascal", "ritchie", "shannon", "thompson", "turing",
		"wozniak", "yonath", "zuse"}
)

// generateName derives a name from the container ID (random), with a
// numeric suffix from further ID bits so that clashes are rare; a clash
// still fails cleanly in reserveName.
func generateName(id string) string {
	b, _ := hex.DecodeString(id[:16])
	n := binary.BigEndian.Uint64(b)
	return fmt.Sprintf("%s_%s%d", adjectives[n%uint64(len(adjectives))], surnames[(n/97)%uint64(len(surnames))], (n/9973)%100)
}
