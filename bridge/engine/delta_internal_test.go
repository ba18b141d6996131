package engine

import (
	"slices"
	"testing"

	"github.com/idlebridge/idlebridge/bridge/state"
)

func TestMergeDelta(t *testing.T) {
	acc := &state.Delta{Set: map[string]string{}}
	mergeDelta(acc, &state.Delta{Set: map[string]string{"a": "1", "b": "1"}})
	mergeDelta(acc, &state.Delta{Del: []string{"a", "c"}})
	mergeDelta(acc, &state.Delta{Set: map[string]string{"c": "2"}})
	mergeDelta(acc, nil)
	// Applied the store's way (Set, then Del): a gone, b and c set.
	snap := map[string]string{"a": "0", "c": "0", "z": "0"}
	FoldDelta(snap, acc)
	if len(snap) != 3 || snap["b"] != "1" || snap["c"] != "2" || snap["z"] != "0" {
		t.Fatalf("snapshot %v", snap)
	}
	if !slices.Equal(acc.Del, []string{"a"}) {
		t.Fatalf("Del %v, want [a]", acc.Del)
	}
}
