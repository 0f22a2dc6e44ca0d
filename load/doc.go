// Package load drives roomgate the way people do, through the gateway with
// real tokens, using the project's signalling client: scenarios fanout (one
// publisher, many subscribers), meeting (everyone publishes and receives)
// and churn (people join and leave at a rate), in one room or in many at
// once, through one gateway or several of a cluster in turn. It reports
// what really happened: join times, admission times (the signalling
// upgrade through the gateway), packets and bytes received per second,
// loss, the server's retransmission and keyframe requests, subscribers
// that received nothing, and, given the server's process id, its CPU time
// per packet. People who lose their room (its media node killed, or the
// room moved) come back as the browser does (signal.Session), and the
// report says how long until their media flowed again both ways, and who
// never came back. cmd/roomgate-load is its command line.
package load
