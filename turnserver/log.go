package turnserver

import (
	"github.com/pion/logging"
	"go.uber.org/zap"
)

// zapFactory hands pion's loggers over to zap. pion reports every refused
// request as an error; those are a client's mistakes, not the server's, so
// its errors arrive as warnings and everything below as debug. pion logs at
// debug level for every relayed packet: the *f methods leave formatting to
// zap, which skips it when the level is off.
type zapFactory struct{ log *zap.Logger }

func (f zapFactory) NewLogger(scope string) logging.LeveledLogger {
	return zapLogger{f.log.With(zap.String("scope", scope)).Sugar()}
}

type zapLogger struct{ s *zap.SugaredLogger }

func (l zapLogger) Trace(msg string)                          { l.s.Debug(msg) }
func (l zapLogger) Tracef(format string, args ...interface{}) { l.s.Debugf(format, args...) }
func (l zapLogger) Debug(msg string)                          { l.s.Debug(msg) }
func (l zapLogger) Debugf(format string, args ...interface{}) { l.s.Debugf(format, args...) }
func (l zapLogger) Info(msg string)                           { l.s.Debug(msg) }
func (l zapLogger) Infof(format string, args ...interface{})  { l.s.Debugf(format, args...) }
func (l zapLogger) Warn(msg string)                           { l.s.Info(msg) }
func (l zapLogger) Warnf(format string, args ...interface{})  { l.s.Infof(format, args...) }
func (l zapLogger) Error(msg string)                          { l.s.Warn(msg) }
func (l zapLogger) Errorf(format string, args ...interface{}) { l.s.Warnf(format, args...) }
