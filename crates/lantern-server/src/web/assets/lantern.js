// Lantern's only script: a sign-in link carries the token in its fragment
// (#token=…), which browsers never send to a server; this fills the
// sign-in form with it and submits it, then forgets the fragment.
(function () {
  var field = document.getElementById("token");
  var match = /[#&]token=([^&]+)/.exec(window.location.hash);
  if (field && match) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
    field.value = decodeURIComponent(match[1]);
    field.form.submit();
  }
})();
