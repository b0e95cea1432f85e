using Switchyard.Proxy;

namespace Switchyard.Tests.Proxy;

public sealed class Http1ProcessorRulesTests
{
    [Theory]
    [InlineData("GET", true)]
    [InlineData("HEAD", true)]
    [InlineData("OPTIONS", true)]
    [InlineData("TRACE", true)]
    [InlineData("PUT", true)]
    [InlineData("DELETE", true)]
    [InlineData("POST", false)]
    [InlineData("PATCH", false)]
    [InlineData("CONNECT", false)]
    [InlineData("PROPFIND", false)]
    public void Only_idempotent_methods_may_be_sent_again(string method, bool idempotent) =>
        Assert.Equal(idempotent, Http1Processor.IsIdempotent(Switchyard.Http1.Http1Methods.Intern(System.Text.Encoding.ASCII.GetBytes(method))));
}
