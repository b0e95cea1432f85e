using System.Text.Json.Nodes;
using Switchyard.Kubernetes;

namespace Switchyard.Tests.Kubernetes;

/// <summary>Real-world shaped manifests for the generate tests, and helpers to run the generator on YAML text.</summary>
internal static class GenerateFixtures
{
    /// <summary>
    /// A shop: one Deployment with two containers (app: https named 8443 + unnamed 8080 + metrics 9090; dns sidecar
    /// on 53/UDP), a ClusterIP Service with a named and a numeric targetPort, a headless Service reaching 8080 again
    /// and 53/UDP, and a Service in another namespace that must not count.
    /// </summary>
    public const string Shop = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: shop
          namespace: web
          labels: {app: shop}
        spec:
          replicas: 2
          selector:
            matchLabels: {app: shop}
          template:
            metadata:
              labels:
                tier: front
                app: shop
              annotations:
                prometheus.io/scrape: "true"
            spec:
              containers:
              - name: app
                image: registry.example/shop:1.4
                ports:
                - name: https
                  containerPort: 8443
                - containerPort: 8080
                - name: metrics
                  containerPort: 9090
              - name: dns
                image: coredns/coredns:1.11
                ports:
                - name: dns
                  containerPort: 53
                  protocol: UDP
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: shop
          namespace: web
        spec:
          selector:
            app: shop
          ports:
          - name: https
            port: 443
            targetPort: https
            appProtocol: https
          - name: http
            port: 80
            targetPort: 8080
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: shop-headless
          namespace: web
        spec:
          clusterIP: None
          selector:
            app: shop
            tier: front
          ports:
          - name: web
            port: 8080
            appProtocol: http
          - name: dns
            port: 53
            protocol: UDP
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: shop
          namespace: other
        spec:
          selector: {app: shop}
          ports:
          - port: 1234
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: legacy
          namespace: other
        spec:
          selector:
            matchLabels: {app: shop}
          template:
            metadata:
              labels: {app: shop}
            spec:
              containers:
              - name: legacy
                image: legacy
                ports:
                - containerPort: 1234
        """;

    /// <summary>One Deployment "api" in namespace default, one container "api" with 8443 (named https) and 8080, one Service for both.</summary>
    public static string Api(string annotations = "", string extraDocuments = "") => $"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
        spec:
          template:
            metadata:
              labels: {"{"}app: api, team: pay{"}"}
              annotations:
                unrelated.example/key: value
        {Indent(annotations, 8)}
            spec:
              containers:
              - name: api
                image: api
                ports:
                - name: https
                  containerPort: 8443
                - containerPort: 8080
              - name: sidecar
                image: envoy
                ports:
                - containerPort: 15000
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: api
        spec:
          selector: {"{"}app: api{"}"}
          ports:
          - name: https
            port: 443
            targetPort: 8443
          - name: http
            port: 80
            targetPort: 8080
        {extraDocuments}
        """;

    public static Generation Generate(string yaml, string? workload = null, GenerateOptions? options = null) =>
        ConfigGenerator.Generate(ManifestReader.Read("app.yaml", yaml), (options ?? new GenerateOptions()) with { Workload = workload ?? options?.Workload });

    public static JsonObject Json(Generation generation) => JsonNode.Parse(generation.ConfigJson)!.AsObject();

    public static JsonObject Port(Generation generation, string name) =>
        Json(generation)["ports"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == name)!.AsObject();

    public static string Error(string yaml, string? workload = null) =>
        Assert.Throws<KubeInputException>(() => Generate(yaml, workload)).Message;

    private static string Indent(string text, int spaces) =>
        string.Join('\n', text.Split('\n').Select(line => line.Length == 0 ? line : new string(' ', spaces) + line));
}
