/* clipsearch page: behaviour (placeholder, see issue 10) */
