/* Zhangyin app: runs before the app's code (index.html, a blocking script ahead of the rest).
   A customer who opens the app lands on home: while the access cookie of the last grant is
   good, ask for the accounts now, so the answer is on its way while the app's JavaScript
   evaluates and renders; src/api/http.ts adopts the pending request (window.__zyEarly).
   Only a time and a flag are read here (keys and margin as in src/api/http.ts and
   src/stores/session.ts); no token is stored anywhere JavaScript can read. */
;(function () {
  try {
    if (!/^\/app\/?(home)?$/.test(location.pathname) || navigator.onLine === false) return
    if (localStorage.getItem('zy_signed_in') !== '1') return
    var until = Number(localStorage.getItem('zy_access_until'))
    if (!(until - 30000 > Date.now())) return
    window.__zyEarly = {
      '/v1/accounts': fetch('/v1/accounts', {
        headers: {
          Accept: 'application/json, application/problem+json',
          'Accept-Language': localStorage.getItem('zy_language') || 'zh-CN',
          'X-Requested-With': 'zhangyin',
        },
        credentials: 'include',
        cache: 'no-store',
      }),
    }
  } catch {
    // Private mode without storage, an old browser: the app asks for itself.
  }
})()
