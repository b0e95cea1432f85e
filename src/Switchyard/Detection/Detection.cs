namespace Switchyard.Detection;

public enum TlsDetection : byte { Unknown, Tls, Plaintext }

public enum HttpDetection : byte { Unknown, Http1, Http2, None }

/// <summary>Which rule of the SPEC detection order decided a value.</summary>
public enum DetectionSource : byte { Pending, Config, DownstreamTls, AppProtocol, PortName, PortNumber, Probe }

public enum ProbeState : byte { NotNeeded, Pending, Running, Succeeded, Failed }

/// <summary>What is known of a port's protocol, and where each half came from.</summary>
public readonly record struct PortProtocol(TlsDetection Tls, DetectionSource TlsSource, HttpDetection Http, DetectionSource HttpSource)
{
    public bool NeedsProbe => Tls == TlsDetection.Unknown || Http == HttpDetection.Unknown;

    public static string Name(TlsDetection tls) => tls switch
    {
        TlsDetection.Tls => "tls",
        TlsDetection.Plaintext => "plaintext",
        _ => "unknown",
    };

    public static string Name(HttpDetection http) => http switch
    {
        HttpDetection.Http1 => "http1",
        HttpDetection.Http2 => "http2",
        HttpDetection.None => "none",
        _ => "unknown",
    };

    public static string Name(DetectionSource source) => source switch
    {
        DetectionSource.Config => "config",
        DetectionSource.DownstreamTls => "downstreamTls",
        DetectionSource.AppProtocol => "appProtocol",
        DetectionSource.PortName => "portName",
        DetectionSource.PortNumber => "portNumber",
        DetectionSource.Probe => "probe",
        _ => "pending",
    };

    public static string Name(ProbeState state) => state switch
    {
        ProbeState.NotNeeded => "notNeeded",
        ProbeState.Pending => "pending",
        ProbeState.Running => "running",
        ProbeState.Succeeded => "succeeded",
        _ => "failed",
    };
}
