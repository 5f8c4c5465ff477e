// The API explorer: Swagger UI over /openapi.yml. "Try it out" sends the key the console keeps in
// sessionStorage (same origin), so a key entered once works here too; nothing is fetched from elsewhere.
window.ui = SwaggerUIBundle({
  url: '/openapi.yml',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  docExpansion: 'list',
  requestInterceptor: (request) => {
    const key = sessionStorage.getItem('quiver.apiKey');
    if (key && !request.headers.Authorization) {
      request.headers.Authorization = 'Bearer ' + key;
    }
    return request;
  },
});
