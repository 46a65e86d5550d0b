package server

import (
	"container/list"
	"sync"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// recentRecords keeps the last decisions in memory, least recently decided first out, so
// that a controller reading back the decision it was just given never touches the disk.
type recentRecords struct {
	mu    sync.Mutex
	max   int
	order *list.List               // of *recentEntry, most recent at the front
	byID  map[string]*list.Element // decision id -> element
}

type recentEntry struct {
	rec *engine.Record
}

func newRecentRecords(max int) *recentRecords {
	return &recentRecords{max: max, order: list.New(), byID: map[string]*list.Element{}}
}

func (c *recentRecords) add(rec *engine.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[rec.DecisionID]; ok {
		// Without an archive the same input decides the same id: keep the newer copy.
		el.Value = &recentEntry{rec: rec}
		c.order.MoveToFront(el)
		return
	}
	c.byID[rec.DecisionID] = c.order.PushFront(&recentEntry{rec: rec})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*recentEntry).rec.DecisionID)
	}
}

func (c *recentRecords) get(id string) (*engine.Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return el.Value.(*recentEntry).rec, true
}
