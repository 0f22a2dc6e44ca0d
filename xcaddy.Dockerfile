# roomgate in a container: Caddy built by xcaddy with roomgate from this
# source tree, run on the plain Caddy image. The build is the same as
# cmd/roomgate (Caddy's standard modules plus github.com/roomgate/roomgate);
# e2e/dockerfile_test.go holds the two together.
#
#   docker build -f xcaddy.Dockerfile -t roomgate .
#   docker run -d --name roomgate \
#     -e ROOMGATE_SITE=meet.example.com -e ROOMGATE_PUBLIC_IP=203.0.113.7 \
#     -e ROOMGATE_TURN_HOST=meet.example.com \
#     -p 80:80 -p 443:443 -p 443:443/udp \
#     -p 7881:7881 -p 7882:7882/udp \
#     -p 3478:3478 -p 3478:3478/udp -p 49152-49407:49152-49407/udp \
#     -e ROOMGATE_RELAY_PORTS=49152-49407 \
#     -v roomgate-data:/data -v roomgate-config:/config roomgate
#
# See docs/deploy.md for the ports and the secrets.

ARG CADDY_VERSION=2.11.9

FROM caddy:${CADDY_VERSION}-builder AS builder
ARG CADDY_VERSION
# go.mod may ask for a newer Go than the builder image carries: let go
# fetch that toolchain instead of failing.
ENV GOTOOLCHAIN=auto
COPY . /src/roomgate
RUN xcaddy build v${CADDY_VERSION} \
	--output /usr/bin/caddy \
	--with github.com/roomgate/roomgate=/src/roomgate

FROM caddy:${CADDY_VERSION}
COPY --from=builder /usr/bin/caddy /usr/bin/caddy
# The image runs /etc/caddy/Caddyfile and keeps Caddy's storage (the
# generated master secret, certificates, rooms, revoked tokens) in /data.
COPY Caddyfile /etc/caddy/Caddyfile
# HTTP and HTTPS (TCP, and UDP for HTTP/3); the media server's ICE-TCP and
# UDP ports; TURN on UDP and TCP, and its relay ports.
EXPOSE 80 443 443/udp 7881 7882/udp 3478 3478/udp 49152-65535/udp
