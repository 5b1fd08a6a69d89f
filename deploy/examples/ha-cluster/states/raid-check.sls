# For the maintenance runner: fails (saying why) while any array is degraded, resyncing or recovering.
{% for md in pillar.raid.arrays %}
{{ md }}-healthy:
  raid.healthy:
    - name: {{ md }}
{% endfor %}
