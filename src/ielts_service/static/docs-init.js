// Starts Swagger UI on /docs. A file of its own: the page's Content-Security-Policy allows
// only scripts served by the service, never inline ones.
window.addEventListener("load", function () {
  SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui" });
});
