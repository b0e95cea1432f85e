using Switchyard.Config;

namespace Switchyard.Detection;

/// <summary>
/// The static part of the SPEC "Protocol detection order": what config alone says about a port.
/// Whatever stays Unknown here is left to the probe (rule 4).
/// </summary>
public static class ProtocolDetector
{
    public static PortProtocol FromConfig(PortSettings port)
    {
        (TlsDetection tls, DetectionSource tlsSource) = DetectTls(port);
        (HttpDetection http, DetectionSource httpSource) = DetectHttp(port);
        return new PortProtocol(tls, tlsSource, http, httpSource);
    }

    private static (TlsDetection, DetectionSource) DetectTls(PortSettings port)
    {
        // An explicit "tls" setting overrides detection.
        if (port.Tls == TlsMode.On)
        {
            return (TlsDetection.Tls, DetectionSource.Config);
        }

        if (port.Tls == TlsMode.Off)
        {
            return (TlsDetection.Plaintext, DetectionSource.Config);
        }

        // 1. downstreamTls configured -> TLS.
        if (port.DownstreamTls is not null)
        {
            return (TlsDetection.Tls, DetectionSource.DownstreamTls);
        }

        // 2. appProtocol.
        switch (port.AppProtocol?.ToLowerInvariant())
        {
            case "https" or "wss" or "kubernetes.io/wss" or "http2" or "grpc" or "tls":
                return (TlsDetection.Tls, DetectionSource.AppProtocol);
            case "kubernetes.io/ws" or "ws" or "h2c" or "kubernetes.io/h2c":
                return (TlsDetection.Plaintext, DetectionSource.AppProtocol);
        }

        // 3. Port name https or port number 443 (the app's port: the number the Service targets).
        if (string.Equals(port.Name, "https", StringComparison.OrdinalIgnoreCase))
        {
            return (TlsDetection.Tls, DetectionSource.PortName);
        }

        if (port.AppPort == 443)
        {
            return (TlsDetection.Tls, DetectionSource.PortNumber);
        }

        return (TlsDetection.Unknown, DetectionSource.Pending);
    }

    private static (HttpDetection, DetectionSource) DetectHttp(PortSettings port)
    {
        switch (port.Http)
        {
            case HttpMode.Http1: return (HttpDetection.Http1, DetectionSource.Config);
            case HttpMode.Http2: return (HttpDetection.Http2, DetectionSource.Config);
            case HttpMode.None: return (HttpDetection.None, DetectionSource.Config);
        }

        if (port.Protocol == "UDP")
        {
            return (HttpDetection.None, DetectionSource.Config);
        }

        return port.AppProtocol?.ToLowerInvariant() switch
        {
            "h2c" or "kubernetes.io/h2c" or "http2" or "grpc" => (HttpDetection.Http2, DetectionSource.AppProtocol),
            "tcp" or "udp" => (HttpDetection.None, DetectionSource.AppProtocol),
            "http" or "ws" or "kubernetes.io/ws" => (HttpDetection.Http1, DetectionSource.AppProtocol),
            _ => (HttpDetection.Unknown, DetectionSource.Pending),
        };
    }
}
