using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;

namespace Switchyard.Proxy;

/// <summary>
/// One timer for every connection's timeouts (Kestrel's heartbeat): once a second it compares each open
/// connection's <see cref="ConnectionPhase"/> and timestamps with the clock, so that setting a timeout costs a
/// connection two field writes and no timer of its own. A connection past its limit is aborted with that limit as
/// its end reason; an idle HTTP/2 connection first gets GOAWAY NO_ERROR and a grace to close.
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    /// <summary>Timeouts fire within a second of their limit, which is what every limit here is measured in.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>How long an idle HTTP/2 caller has after our GOAWAY NO_ERROR to close before it is aborted.</summary>
    public static readonly TimeSpan GoAwayGrace = TimeSpan.FromSeconds(5);

    private readonly ConnectionTracker _tracker;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly MemoryTrim _trim;

    public Heartbeat(ConnectionTracker tracker, TimeProvider time, ILogger logger)
    {
        _tracker = tracker;
        _time = time;
        _logger = logger;
        _trim = new MemoryTrim(time);
        _timer = time.CreateTimer(static s => ((Heartbeat)s!).Tick(), this, Interval, Interval);
    }

    /// <summary>One check of every open connection (the timer's callback; tests call it after moving the clock).</summary>
    public void Tick()
    {
        long now = _time.GetTimestamp();
        foreach (ConnectionContext context in _tracker.Open)
        {
            if (context.Settings is null)
            {
                continue; // being returned to its pool
            }

            try
            {
                Check(context, now);
            }
            catch (Exception e)
            {
                // A timer callback must never throw (it would end the process); one connection's failure is logged.
                _logger.ConnectionFailed(e, context.Id, context.Settings?.Name ?? "?");
            }
        }

        if (_trim.ShouldTrim(_tracker.Count))
        {
            MemoryTrim.Trim(); // many connections closed: give their memory back (issue 16)
        }
    }

    private void Check(ConnectionContext context, long now)
    {
        Config.PortLimits limits = context.Settings.Limits;
        (ConnectionPhase phase, long since) = context.PhaseAndSince;
        Http2.Http2Connection? h2 = context.Http2;
        if (h2 is not null && phase is ConnectionPhase.Idle or ConnectionPhase.Exchange)
        {
            // HTTP/2: a header block waiting for CONTINUATION is a request head in progress.
            long headerBlock = h2.HeaderBlockSince;
            if (headerBlock != 0 && _time.GetElapsedTime(headerBlock, now) > limits.RequestHeadTimeout)
            {
                context.Expire(ConnectionEndReason.RequestHeadTimeout);
                context.Abort();
                return;
            }

            if (h2.ActiveStreams > 0)
            {
                // Streams in flight: each idle one is reset on its own (streamIdleTimeout ends that exchange only).
                int ended = h2.EndIdleStreams(limits.StreamIdleTimeout);
                for (int i = 0; i < ended; i++)
                {
                    context.Port.Metrics.Timeouts.Increment(ConnectionEndReason.StreamIdleTimeout.Name());
                }

                return;
            }

            // No stream holds a slot: idle since the last byte moved.
            phase = ConnectionPhase.Idle;
            since = Math.Max(since, context.LastActivity);
        }
        else if (phase == ConnectionPhase.Exchange)
        {
            since = Math.Max(since, context.LastActivity);
        }

        TimeSpan elapsed = _time.GetElapsedTime(since, now);
        ConnectionEndReason? expired = phase switch
        {
            ConnectionPhase.Idle when elapsed > limits.IdleTimeout => ConnectionEndReason.IdleTimeout,
            ConnectionPhase.RequestHead when elapsed > limits.RequestHeadTimeout => ConnectionEndReason.RequestHeadTimeout,
            ConnectionPhase.Exchange when elapsed > limits.StreamIdleTimeout => ConnectionEndReason.StreamIdleTimeout,
            ConnectionPhase.Closing when elapsed > GoAwayGrace => ConnectionEndReason.IdleTimeout,
            _ => null,
        };
        if (expired is not { } reason)
        {
            return;
        }

        if (h2 is not null && reason == ConnectionEndReason.IdleTimeout && phase != ConnectionPhase.Closing)
        {
            // SPEC: an idle HTTP/2 connection ends with GOAWAY NO_ERROR; the caller closes, or is closed after a grace.
            context.SetPhase(ConnectionPhase.Closing);
            context.Expire(reason);
            _ = h2.ShutdownAsync().AsTask();
            return;
        }

        context.Expire(reason);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            _logger.ConnectionTimedOut(context.Id, context.Settings.Name, reason.Name(), (long)elapsed.TotalMilliseconds);
        }

        context.Abort();
    }

    public void Dispose() => _timer.Dispose();
}
