// The pulse answer page: the link carries the code in its fragment
// (/pulse/R#code), which browsers never send to a server. Where script
// runs, this puts it in the form and hides the field; without script the
// person types or pastes it. The page works either way.
(function () {
  var field = document.getElementById("code");
  var code = window.location.hash.replace(/^#/, "");
  if (field && /^[0-9a-fA-F]{32}$/.test(code)) {
    field.value = code;
    field.parentNode.hidden = true;
    history.replaceState(null, "", window.location.pathname);
  }
})();
