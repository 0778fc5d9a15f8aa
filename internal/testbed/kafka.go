// Copyright The otelcol-falco Authors
// SPDX-License-Identifier: Apache-2.0

package testbed // import "github.com/otelcol-falco/otelcol-falco/internal/testbed"

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Kafka is an in-process Kafka cluster (franz-go's kfake) on loopback, standing in for the
// Kafka a SIEM reads from.
type Kafka struct {
	cluster *kfake.Cluster
	brokers []string
}

// StartKafka starts a one-broker cluster with topic created with the given partitions; it is
// closed through tb.Cleanup.
func StartKafka(tb TB, topic string, partitions int32) *Kafka {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		tb.Fatalf("kfake: %v", err)
	}
	k := &Kafka{cluster: c, brokers: c.ListenAddrs()}
	tb.Cleanup(c.Close)
	return k
}

// Brokers is the comma-separated bootstrap list.
func (k *Kafka) Brokers() string { return strings.Join(k.brokers, ",") }

// Broker is the first broker's host:port.
func (k *Kafka) Broker() string { return k.brokers[0] }

// KafkaLogsConsumer reads a topic from its start and decodes every message as an OTLP logs
// export request (the kafka exporter's otlp_json or otlp_proto encoding), keeping the records
// in a Sink-like store: Count, Unique, Duplicates and Records work as on a Sink.
type KafkaLogsConsumer struct {
	*Sink
	messages   atomic.Int64
	bytes      atomic.Int64
	decodeErrs atomic.Int64
	keyed      atomic.Int64

	mu      sync.Mutex
	lastErr error

	client *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// ConsumeLogs starts a consumer of topic; encoding is "otlp_json" or "otlp_proto".
func (k *Kafka) ConsumeLogs(tb TB, topic, encoding string) *KafkaLogsConsumer {
	tb.Helper()
	var um plog.Unmarshaler
	switch encoding {
	case "otlp_json":
		um = &plog.JSONUnmarshaler{}
	case "otlp_proto":
		um = &plog.ProtoUnmarshaler{}
	default:
		tb.Fatalf("kafka consumer: unsupported encoding %q", encoding)
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(k.brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		tb.Fatalf("kafka consumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &KafkaLogsConsumer{
		Sink:   newSink(true),
		client: client, cancel: cancel, done: make(chan struct{}),
	}
	go c.run(ctx, um)
	tb.Cleanup(c.Close)
	return c
}

func (c *KafkaLogsConsumer) run(ctx context.Context, um plog.Unmarshaler) {
	defer close(c.done)
	for ctx.Err() == nil {
		fetches := c.client.PollFetches(ctx)
		fetches.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.setErr(err)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			c.messages.Add(1)
			c.bytes.Add(int64(len(r.Value)))
			if len(r.Key) > 0 {
				c.keyed.Add(1)
			}
			logs, err := um.UnmarshalLogs(r.Value)
			if err != nil {
				c.decodeErrs.Add(1)
				c.setErr(err)
				return
			}
			c.record(logs, time.Now())
		})
	}
}

func (c *KafkaLogsConsumer) setErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// Messages is the number of Kafka messages read.
func (c *KafkaLogsConsumer) Messages() int64 { return c.messages.Load() }

// MessageBytes is the total size of the message values read.
func (c *KafkaLogsConsumer) MessageBytes() int64 { return c.bytes.Load() }

// KeyedMessages is the number of messages that carried a record key.
func (c *KafkaLogsConsumer) KeyedMessages() int64 { return c.keyed.Load() }

// DecodeErrors is the number of messages that were not OTLP logs in the expected encoding.
func (c *KafkaLogsConsumer) DecodeErrors() int64 { return c.decodeErrs.Load() }

// Err is the last fetch or decode error, if any.
func (c *KafkaLogsConsumer) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// Close stops the consumer.
func (c *KafkaLogsConsumer) Close() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	<-c.done
	c.client.Close()
	c.cancel = nil
}
