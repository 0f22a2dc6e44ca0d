// Package load drives roomgate the way people do, through the gateway with
// real tokens, using the project's signalling client: scenarios fanout (one
// publisher, many subscribers), meeting (everyone publishes and receives)
// and churn (people join and leave at a rate). It reports what really
// happened: join times, packets and bytes received per second, loss, the
// server's retransmission and keyframe requests, subscribers that received
// nothing, and, given the server's process id, its CPU time per packet.
// cmd/roomgate-load is its command line.
package load
