using System.Text.Json.Serialization;

namespace Switchyard.Tests.Routing;

/// <summary>Source-generated JSON for test helpers (string escaping) so the tests stay reflection-free like the product.</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class RoutingJsonContext : JsonSerializerContext;
