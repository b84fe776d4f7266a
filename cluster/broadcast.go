package cluster

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
)

// Broadcasts go to the subject jd.topic.TOPIC, TOPIC encoded as one
// token (topicToken), with the sender's name in the Jd-From header.
const (
	topicPrefix = "jd.topic."
	maxTopic    = 256
)

// topicToken encodes a topic as one subject token: letters, digits, '_'
// and '-' stay, every other byte (the dots too) is %XX. A topic is any
// text of 1 to 256 bytes, so a portal's name can be part of one as it
// is ("presence." + portal), and no topic reaches another's subject or a
// wildcard.
func topicToken(topic string) (string, error) {
	if topic == "" || len(topic) > maxTopic {
		return "", fmt.Errorf("cluster: topic %q: 1 to %d bytes", topic, maxTopic)
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(topic); i++ {
		ch := topic[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String(), nil
}

// Publish sends data to every node subscribed to topic, this one
// included. Delivery is at most once: a node that is disconnected at
// that moment misses it. One node's broadcasts of a topic arrive in the
// order they were published.
func (c *Cluster) Publish(topic string, data []byte) error {
	token, err := topicToken(topic)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(topicPrefix + token)
	msg.Header.Set(hdrFrom, c.node)
	msg.Data = data
	if err := c.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("cluster: publish %q: %w", topic, err)
	}
	return nil
}

// Subscribe has h called with each broadcast of topic, from any node —
// this one's own included: h compares from with Node to skip them. The
// calls of one subscription come one at a time, on a goroutine of their
// own, so h must not block for long. Once Subscribe returns, the NATS
// server has the subscription. The function returned ends it.
func (c *Cluster) Subscribe(topic string, h func(from string, data []byte)) (unsubscribe func(), err error) {
	token, err := topicToken(topic)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		return nil, fmt.Errorf("cluster: subscribe %q: %w", topic, ErrClosed)
	}
	sub, err := c.nc.Subscribe(topicPrefix+token, func(m *nats.Msg) {
		h(m.Header.Get(hdrFrom), m.Data)
	})
	if err == nil {
		// Once the server has the subscription, broadcasts reach it.
		if err = c.nc.FlushTimeout(opTimeout); err != nil {
			_ = sub.Unsubscribe() // the flush's error says more
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: subscribe %q: %w", topic, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			err := sub.Unsubscribe()
			if err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
				c.log.Warn("cluster: unsubscribe", "topic", topic, "err", err)
			}
		})
	}, nil
}
