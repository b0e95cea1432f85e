using System.Text.Json.Nodes;
using Switchyard.Config;
using Switchyard.Kubernetes;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Kubernetes.GenerateFixtures;

namespace Switchyard.Tests.Kubernetes;

public sealed class ConfigGeneratorTests
{
    [Fact]
    public void The_shop_fixture_gives_this_exact_config()
    {
        Generation generation = Generate(Shop, "deploy/shop");

        Assert.Equal("""
            {
              "version": 1,
              "workload": {
                "kind": "Deployment",
                "name": "shop",
                "namespace": "web",
                "labels": {
                  "app": "shop",
                  "tier": "front"
                }
              },
              "admin": {
                "listen": "127.0.0.1:9901"
              },
              "tunnel": {
                "listen": "127.0.0.1:9902"
              },
              "ports": [
                {
                  "name": "https",
                  "protocol": "TCP",
                  "appProtocol": "https",
                  "listen": 9900,
                  "app": "127.0.0.1:8443"
                },
                {
                  "name": "http",
                  "protocol": "TCP",
                  "appProtocol": "http",
                  "listen": 9903,
                  "app": "127.0.0.1:8080"
                },
                {
                  "name": "dns",
                  "protocol": "UDP",
                  "listen": 9904,
                  "app": "127.0.0.1:53",
                  "tls": "off",
                  "http": "none"
                }
              ],
              "intercepts": []
            }

            """, generation.ConfigJson);
        Assert.Empty(generation.Warnings);
        Assert.Empty(generation.SecretNames);
        Assert.Empty(generation.TlsPaths);
    }

    [Fact]
    public void The_generation_lists_each_mapped_port_with_the_service_ports_that_reach_it()
    {
        Generation generation = Generate(Shop, "deployment/shop");

        Assert.Equal("shop", generation.Workload.Name);
        Assert.Equal("web", generation.Workload.Namespace);
        Assert.Collection(generation.Ports,
            p =>
            {
                Assert.Equal(("https", "app", "https", 8443, "TCP", 9900), (p.ConfigName, p.Container, p.ContainerPortName, p.ContainerPort, p.Protocol, p.Listen));
                var only = Assert.Single(p.Services);
                Assert.Equal(("shop", 1, 0, true), (only.Service.Name, only.Service.Index, only.PortIndex, only.TargetPortIsName));
            },
            p =>
            {
                Assert.Equal(("http", "app", null, 8080, "TCP", 9903), (p.ConfigName, p.Container, p.ContainerPortName, p.ContainerPort, p.Protocol, p.Listen));
                Assert.Equal([("shop", 1, false), ("shop-headless", 0, false)], p.Services.Select(s => (s.Service.Name, s.PortIndex, s.TargetPortIsName)));
            },
            p =>
            {
                Assert.Equal(("dns", "dns", "dns", 53, "UDP", 9904), (p.ConfigName, p.Container, p.ContainerPortName, p.ContainerPort, p.Protocol, p.Listen));
                Assert.Equal([("shop-headless", 1)], p.Services.Select(s => (s.Service.Name, s.PortIndex)));
            });
    }

    [Fact]
    public void The_same_input_gives_byte_identical_output()
    {
        string first = Generate(Shop, "deploy/shop").ConfigJson;
        string second = Generate(Shop, "deploy/shop").ConfigJson;

        Assert.Equal(first, second);
        Assert.EndsWith("}\n", first, StringComparison.Ordinal);
    }

    [Fact]
    public void Ports_are_ordered_by_container_and_port_order_not_by_service_order()
    {
        string yaml = Api(extraDocuments: """
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: first-envoy}
            spec:
              selector: {team: pay}
              ports:
              - {port: 15000}
            """).Replace("  - name: https\n    port: 443", "  - name: https-svc\n    port: 443", StringComparison.Ordinal);

        Generation generation = Generate(yaml);

        Assert.Equal([(8443, 9900), (8080, 9903), (15000, 9904)], generation.Ports.Select(p => (p.ContainerPort, p.Listen)));
        Assert.Equal(["https", "http", "port-15000"], generation.Ports.Select(p => p.ConfigName));
    }

    [Fact]
    public void Listen_ports_skip_the_admin_and_tunnel_ports_and_every_container_port()
    {
        string yaml = Api().Replace("containerPort: 15000", "containerPort: 7001", StringComparison.Ordinal);

        Generation generation = Generate(yaml, options: new GenerateOptions { BasePort = 7000, AdminListen = "127.0.0.1:7002", TunnelListen = "0.0.0.0:7004" });

        Assert.Equal([7000, 7003], generation.Ports.Select(p => p.Listen));
        Assert.Equal("127.0.0.1:7002", Json(generation)["admin"]!["listen"]!.GetValue<string>());
        Assert.Equal("0.0.0.0:7004", Json(generation)["tunnel"]!["listen"]!.GetValue<string>());
    }

    [Fact]
    public void Names_come_from_the_container_port_then_the_service_port_then_the_number_and_are_made_unique()
    {
        string yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: p, labels: {app: p}}
            spec:
              containers:
              - name: a
                ports:
                - {name: web, containerPort: 80}
                - {containerPort: 81}
                - {containerPort: 82}
                - {containerPort: 83}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: s}
            spec:
              selector: {app: p}
              ports:
              - {port: 80, appProtocol: h2c}
              - {name: web, port: 81}
              - {port: 82}
              - {name: extra, port: 83, targetPort: 83, appProtocol: kubernetes.io/ws}
              - {name: again, port: 8083, targetPort: 83, appProtocol: ws}
            """;

        Generation generation = Generate(yaml);

        Assert.Equal(["web", "web-2", "port-82", "extra"], generation.Ports.Select(p => p.ConfigName));
        Assert.Equal("h2c", Port(generation, "web")["appProtocol"]!.GetValue<string>());
        Assert.Null(Port(generation, "web-2")["appProtocol"]);
        Assert.Equal("kubernetes.io/ws", Port(generation, "extra")["appProtocol"]!.GetValue<string>());
        Assert.Equal("Pod", Json(generation)["workload"]!["kind"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("deploy/shop")]
    [InlineData("deployment/shop")]
    [InlineData("deployments/shop")]
    [InlineData("Deployment/shop")]
    [InlineData("DEPLOY/shop")]
    public void Workload_accepts_kubectl_spellings_of_deployment(string spelling)
    {
        Generation generation = Generate(Shop + "\n---\n" + Api(), spelling);

        Assert.Equal("shop", generation.Workload.Name);
        Assert.Equal("web", generation.Workload.Namespace);
    }

    [Theory]
    [InlineData("StatefulSet", "sts/db")]
    [InlineData("StatefulSet", "statefulsets/db")]
    [InlineData("DaemonSet", "ds/db")]
    [InlineData("DaemonSet", "daemonset/db")]
    [InlineData("ReplicaSet", "rs/db")]
    [InlineData("ReplicaSet", "replicasets/db")]
    [InlineData("Pod", "pod/db")]
    [InlineData("Pod", "pods/db")]
    [InlineData("Pod", "po/db")]
    public void Workload_accepts_kubectl_spellings_of_every_controller(string kind, string spelling)
    {
        string controller = kind == "Pod" ? "ReplicaSet" : kind;
        string yaml = $$$"""
            apiVersion: apps/v1
            kind: {{{controller}}}
            metadata: {name: db}
            spec:
              template:
                metadata: {labels: {app: db}}
                spec:
                  containers:
                  - name: db
                    ports: [{containerPort: 5432}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: db, labels: {app: db}}
            spec:
              containers:
              - name: db
                ports: [{containerPort: 5432}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: db}
            spec:
              selector: {app: db}
              ports: [{name: pg, port: 5432}]
            """;

        Generation generation = Generate(yaml, spelling);

        Assert.Equal(kind, generation.Workload.Kind);
        Assert.Equal(kind, Json(generation)["workload"]!["kind"]!.GetValue<string>());
    }

    [Fact]
    public void A_service_without_a_selector_is_skipped()
    {
        string yaml = Api(extraDocuments: """
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: external}
            spec:
              ports: [{port: 5432}]
            """);

        Generation generation = Generate(yaml);

        Assert.Equal(2, generation.Ports.Count);
        Assert.DoesNotContain(generation.Ports.SelectMany(p => p.Services), s => s.Service.Name == "external");
    }
}
